docker rmi nosuch:latest example/other:latest alsonosuch
