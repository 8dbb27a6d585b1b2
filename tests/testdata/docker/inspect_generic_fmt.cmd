docker inspect --format '{{.Id}}' busybox:latest
