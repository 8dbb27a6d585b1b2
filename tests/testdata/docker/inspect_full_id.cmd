docker image inspect --format '{{.Id}}' sha256:85f8dd08026ece11fa90185af823e19c9a4bc9bd79f770520912c8f9800c6e77
