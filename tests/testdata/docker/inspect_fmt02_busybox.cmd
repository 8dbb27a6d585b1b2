docker image inspect --format '{{json .Config}}' busybox:latest
