/*
 * log.h - diagnostics to stderr (systemd's journal picks them up).
 *
 * Owns: the process-wide log level and the process tag ("lanca", "signer").
 * Never pass key material, passphrases or tokens to these functions.
 */
#ifndef LANCA_LOG_H
#define LANCA_LOG_H

#include <syslog.h>

void log_set_tag(const char *tag);
void log_set_level(int level);	/* LOG_ERR .. LOG_DEBUG */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
