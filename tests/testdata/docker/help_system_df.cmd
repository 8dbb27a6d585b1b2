docker system df --help
