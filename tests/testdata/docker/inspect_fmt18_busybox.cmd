docker image inspect --format '{{.Comment}}' busybox:latest
