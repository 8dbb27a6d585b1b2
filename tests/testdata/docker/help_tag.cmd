docker tag --help
