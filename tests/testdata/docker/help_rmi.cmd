docker rmi --help
