docker image inspect --format '{{.Size}} {{.VirtualSize}}' tiny:latest && docker images tiny && docker history tiny
