docker system df --format json
