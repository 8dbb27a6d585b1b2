docker image inspect --format '{{json .}}' busybox:latest
