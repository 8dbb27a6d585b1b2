docker image inspect --format '{{json .Config}}' example/app:v1
