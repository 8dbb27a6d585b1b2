docker image inspect --format '{{json .Config.Labels}}' example/app:v1
