docker image inspect --format '{{.Size}}' busybox:latest
