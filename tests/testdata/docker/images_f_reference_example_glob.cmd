docker images --filter 'reference=example/*'
