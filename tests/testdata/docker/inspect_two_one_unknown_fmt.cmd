docker image inspect --format '{{.Id}}' nosuch:latest busybox:latest
