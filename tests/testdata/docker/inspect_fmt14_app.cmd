docker image inspect --format '{{.Created}}' example/app:v1
