docker image inspect --format '{{.Size}}' example/app:v1
