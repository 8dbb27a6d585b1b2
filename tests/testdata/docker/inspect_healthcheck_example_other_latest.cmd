docker image inspect --format '{{.Config.Healthcheck}} {{.Config.OnBuild}}' example/other:latest
