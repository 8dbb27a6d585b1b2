docker image inspect --format '{{.VirtualSize}}' busybox:latest
