docker image inspect --format '{{.Parent}} {{json .Config.Labels}}' child:latest
