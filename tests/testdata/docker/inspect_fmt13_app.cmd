docker image inspect --format '{{.Config.Labels.x}}' example/app:v1
