docker rmi nosuch:latest
