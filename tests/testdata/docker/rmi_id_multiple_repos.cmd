docker rmi f5455b23f29e
