docker image inspect --format '{{index .RepoTags 5}}' busybox:latest
