-- The project's users. {password}: from the environment (`p06 warehouse grant` says which variable),
-- sent to the server as a parameter-free literal; only sha256 of it is stored by ClickHouse.
-- {user} is p06_sink (role p06_writer), p06_reports (role p06_reader), or p06_province_PP (its province's role).
CREATE USER IF NOT EXISTS {user} IDENTIFIED WITH sha256_password BY {password} DEFAULT ROLE NONE;
ALTER USER {user} IDENTIFIED WITH sha256_password BY {password};
GRANT {role} TO {user};
ALTER USER {user} DEFAULT ROLE {role} SETTINGS PROFILE '{profile}';
