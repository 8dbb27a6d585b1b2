docker image inspect --format '{{json .RepoDigests}}' busybox:latest
