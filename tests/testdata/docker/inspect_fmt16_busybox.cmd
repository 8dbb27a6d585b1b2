docker image inspect --format '{{.Parent}}' busybox:latest
