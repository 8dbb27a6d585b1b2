docker image inspect --format '{{json .Config}}' example/other:latest
