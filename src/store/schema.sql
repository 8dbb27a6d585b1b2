-- strata metadata schema (SQLite, WAL mode). One file, numbered migrations:
-- each "-- migration N" section runs once, in order, inside a transaction, and
-- PRAGMA user_version records the last one applied. Never edit an applied
-- migration; add a new one.

-- migration 1
-- Layers: one row per distinct chain. The unpacked layer is the committed
-- snapshot named by chain_id; blob_* describe the layer blob in content/ when
-- one is kept (pulled, loaded or imported layers; built layers get it lazily).
CREATE TABLE layers (
  chain_id        TEXT PRIMARY KEY,          -- sha256:… of the chain (OCI)
  diff_id         TEXT NOT NULL,             -- sha256 of the uncompressed tar
  parent_chain_id TEXT REFERENCES layers(chain_id),
  size            INTEGER NOT NULL,          -- bytes of file data, as docker counts
  blob_digest     TEXT,                      -- layer blob in content/, if kept
  blob_media_type TEXT,
  blob_size       INTEGER,
  created_at      INTEGER NOT NULL           -- unix seconds the row was written
);
CREATE INDEX layers_parent ON layers(parent_chain_id);

-- Images: id = sha256 of the config bytes (the config blob in content/).
CREATE TABLE images (
  id           TEXT PRIMARY KEY,             -- sha256:…
  top_chain_id TEXT REFERENCES layers(chain_id),  -- NULL for an image without layers
  created      INTEGER NOT NULL,             -- config "created", unix nanoseconds
  size         INTEGER NOT NULL,             -- sum of its layers' sizes
  parent_id    TEXT,                         -- docker's Parent (local builds)
  loaded_at    INTEGER NOT NULL,             -- unix nanoseconds it entered this store
  last_tag_time INTEGER NOT NULL DEFAULT 0   -- unix ns of the last tag set on it; 0 = never
);

-- Tags: full normalized references (docker.io/library/busybox:latest).
CREATE TABLE tags (
  ref        TEXT PRIMARY KEY,
  image_id   TEXT NOT NULL REFERENCES images(id),
  created_at INTEGER NOT NULL
);
CREATE INDEX tags_image ON tags(image_id);

-- Repo digests: name@sha256:… of the manifest an image was pulled/pushed as.
CREATE TABLE repo_digests (
  ref      TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id)
);
CREATE INDEX repo_digests_image ON repo_digests(image_id);

-- migration 2
-- A layer loaded from an uncompressed tar keeps only its tar-split (headers
-- and padding, archive/tar_split.h) as a blob in content/, not the tar: the
-- tar is regenerated from the split and the layer's snapshot on save or push.
-- Then blob_digest = diff_id names a blob that content/ does not hold.
ALTER TABLE layers ADD COLUMN tar_split TEXT;  -- digest of the split blob

-- migration 3
-- Build cache: one row per executed build step, keyed by the step's cache key
-- (the parent's key, the expanded instruction and the inputs it reads; see
-- build/cache.h). The result is the snapshot chain the step produced; its
-- layer rows stay alive while the row exists (GC marks from here as from
-- images), and `builder prune` deletes rows.
CREATE TABLE build_cache (
  cache_key  TEXT PRIMARY KEY,               -- sha256:…
  chain_id   TEXT REFERENCES layers(chain_id),  -- NULL: the step left an empty root
  diff_id    TEXT NOT NULL,                  -- the layer the step added
  created_at INTEGER NOT NULL,               -- unix ns: the layer's (and history's) created time
  last_used  INTEGER NOT NULL,               -- unix seconds, for prune --filter until
  size       INTEGER NOT NULL DEFAULT 0      -- bytes of the step's layer
);

-- migration 4
-- Where a layer's compressed blob is known to exist: written after a push
-- (strata compressed the layer, or reused a blob the registry had), like
-- docker's v2 metadata. The next push HEADs or mounts that blob instead of
-- compressing and sending the layer again. `repository` is the full name
-- ("127.0.0.1:5000/library/busybox").
CREATE TABLE blob_locations (
  diff_id    TEXT NOT NULL,
  repository TEXT NOT NULL,
  digest     TEXT NOT NULL,                  -- the compressed blob
  media_type TEXT NOT NULL,
  size       INTEGER NOT NULL,
  PRIMARY KEY (diff_id, repository, digest)
);

-- migration 5
-- An image's tags come back sorted by ref (inspect's RepoTags, rmi's checks): with the
-- index ordered by (image_id, ref) SQLite reads them in order instead of sorting, which
-- is a third of `inspect`'s work on an image with 1,000 tags.
CREATE INDEX tags_image_ref ON tags(image_id, ref);
DROP INDEX tags_image;
