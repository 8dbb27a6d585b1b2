docker rmi --no-prune example/other:latest
