docker image inspect --format '{{index .RepoTags 0}}' busybox:latest
