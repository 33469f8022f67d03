-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d).
-- The main database "im" is created by POSTGRES_DB; these are the two message shards.
CREATE DATABASE im_shard0;
CREATE DATABASE im_shard1;
