docker image inspect --format '{{.Id}}' busybox:latest example/app:v1
