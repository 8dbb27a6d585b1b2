docker history nosuch:latest
