docker image inspect --format '{{.Id}}' example/app:v1
