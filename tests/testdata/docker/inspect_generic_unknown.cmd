docker inspect nosuch:latest
