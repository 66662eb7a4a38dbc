/*
 * handover.c - the state directory handed to the daemon's user (see
 * handover.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "daemon/handover.h"
#include "daemon/state.h"
#include "store/store.h"

/* What the network-facing process writes after it dropped root. root.pem
 * and backup-root.pem are root's: only `lanca rollover` and `backup-root`,
 * run by root, write them; the daemon reads them (0644). */
static const char *const handover_files[] = {
	STORE_FILE, STORE_FILE "-wal", STORE_FILE "-shm", STORE_FILE "-journal", STATE_STORE_URL,
	STATE_GATEWAY_KEY, STATE_GATEWAY_PEM,
};

#define HANDOVER_MEND_MAX	(STATE_PATH_MAX + 512)

/* Adds path to the list of files to chown by hand. */
static void
handover_mend(char *mend, const char *dir, const char *name)
{
	size_t n = strlen(mend);

	snprintf(mend + n, HANDOVER_MEND_MAX - n, " %s/%s", dir, name);
}

/* Gives dir/name (a regular file with one link, if it exists) to pw.
 * 0; 1 when this process may not chown it; -1 with e. */
static int
handover_file(int dfd, const char *dir, const char *name, const struct passwd *pw,
	      struct lerr *e)
{
	struct stat st, fst;
	int fd, rc;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		return lerr_set(e, LERR_INTERNAL, "%s/%s: %s", dir, name, strerror(errno));
	}
	/* dir is the user's to write: what it put there is not followed. */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return lerr_set(e, LERR_FORBIDDEN, "%s/%s is not a plain file (a symbolic link, "
				"a directory or a file with other hard links): remove it", dir, name);
	if (st.st_uid == pw->pw_uid)
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? 1 : lerr_set(e, LERR_INTERNAL, "%s/%s: %s", dir, name,
						      strerror(errno));
	rc = 0;
	if (fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev ||
	    !S_ISREG(fst.st_mode) || fst.st_nlink != 1)
		rc = lerr_set(e, LERR_FORBIDDEN, "%s/%s changed while it was handed over to %s",
			      dir, name, pw->pw_name);
	else if (fchown(fd, pw->pw_uid, pw->pw_gid) != 0)
		rc = errno == EPERM ? 1 : lerr_set(e, LERR_INTERNAL, "cannot chown %s/%s: %s", dir,
						   name, strerror(errno));
	close(fd);
	return rc;
}

int
handover_state(const char *dir, const char *user, struct lerr *e)
{
	char mend[HANDOVER_MEND_MAX] = "", dir_mend[64] = "";
	struct passwd *pw;
	struct group *gr;
	struct stat st;
	size_t i;
	int dfd, rc = -1, r;

	pw = getpwnam(user);
	if (pw == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "no such user: %s", user);
	if (pw->pw_uid == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "refusing to run as %s: it is root", user);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) != 0) {
		lerr_set(e, LERR_INTERNAL, "%s: %s", dir, strerror(errno));
		goto out;
	}
	/* root:GROUP as systemd makes it. Changing the group of its own
	 * directory to one it is in needs no capability (the unit's Group=
	 * makes root a member); taking it back from the user does. */
	if (st.st_uid != 0 || st.st_gid != pw->pw_gid) {
		if (fchown(dfd, st.st_uid != 0 ? 0 : (uid_t)-1, pw->pw_gid) != 0) {
			if (errno != EPERM) {
				lerr_set(e, LERR_INTERNAL, "cannot chown %s: %s", dir, strerror(errno));
				goto out;
			}
			gr = getgrgid(pw->pw_gid);
			if (gr != NULL)
				snprintf(dir_mend, sizeof(dir_mend), "root:%s", gr->gr_name);
			else
				snprintf(dir_mend, sizeof(dir_mend), "0:%u", (unsigned)pw->pw_gid);
		}
	}
	if (dir_mend[0] == '\0' && (st.st_mode & 0070) != 0070 &&
	    fchmod(dfd, (st.st_mode & 07777) | 0070) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot chmod %s: %s", dir, strerror(errno));
		goto out;
	}
	for (i = 0; i < sizeof(handover_files) / sizeof(handover_files[0]); i++) {
		r = handover_file(dfd, dir, handover_files[i], pw, e);
		if (r < 0)
			goto out;
		if (r > 0)
			handover_mend(mend, dir, handover_files[i]);
	}
	if (dir_mend[0] != '\0' || mend[0] != '\0') {
		char cmds[2 * HANDOVER_MEND_MAX] = "";

		if (dir_mend[0] != '\0')
			snprintf(cmds, sizeof(cmds), "chown %s %s && chmod g+rwx %s%s", dir_mend, dir,
				 dir, mend[0] != '\0' ? " && " : "");
		if (mend[0] != '\0')
			snprintf(cmds + strlen(cmds), sizeof(cmds) - strlen(cmds), "chown %s:%s",
				 user, mend);
		lerr_set(e, LERR_FORBIDDEN, "%s is not laid out for --user %s, and this process may "
			 "not chown (no CAP_CHOWN, as under lanca.service): run `%s` once as root "
			 "(or `lanca init --user` for a new one), then start again", dir, user, cmds);
		goto out;
	}
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}
