docker image inspect --format '{{.Parent}}' example/app:v1
