docker image inspect --format '{{.VirtualSize}}' example/app:v1
