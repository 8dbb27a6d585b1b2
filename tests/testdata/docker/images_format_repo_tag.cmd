docker images --format '{{.Repository}}:{{.Tag}}'
