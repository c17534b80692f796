-- 0003: values a running runner follows live (`ddm limit --global`). Never edit after release.
CREATE TABLE runner_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
