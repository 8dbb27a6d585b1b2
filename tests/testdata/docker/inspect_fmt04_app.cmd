docker image inspect --format '{{.Config.Healthcheck}}' example/app:v1
