docker rmi -f f5455b23f29e
