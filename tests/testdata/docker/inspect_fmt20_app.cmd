docker image inspect --format '{{.Config.ExposedPorts}}' example/app:v1
