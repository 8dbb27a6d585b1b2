docker rmi --no-prune child:latest
