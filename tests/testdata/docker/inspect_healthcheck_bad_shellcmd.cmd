docker image inspect --format '{{.Config.Healthcheck}} {{.Config.OnBuild}}' bad:shellcmd
