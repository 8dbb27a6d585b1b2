docker image inspect nosuch:latest
