docker image inspect --format '{{.Id' busybox:latest
