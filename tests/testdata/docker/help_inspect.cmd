docker inspect --help
