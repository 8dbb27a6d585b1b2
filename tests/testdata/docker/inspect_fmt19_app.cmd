docker image inspect --format '{{json .}}' example/app:v1
