-- 0002: placeholder, being written
SELECT 1;
