package onevice;

import java.io.IOException;
import java.nio.file.Path;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs Neo4j Community embedded with Bolt on 127.0.0.1:PORT and no authentication,
 * its files under HOME. Prints "READY" once it accepts connections and stops
 * cleanly on SIGTERM or when its standard input closes (the test process died).
 *
 * <p>Usage: java ... onevice.Launcher HOME PORT
 */
public final class Launcher {
  private Launcher() {}

  public static void main(String[] args) throws IOException {
    Path home = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    DatabaseManagementService dbms =
        new DatabaseManagementServiceBuilder(home)
            .setConfig(BoltConnector.enabled, true)
            .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
            .setConfig(HttpConnector.enabled, false)
            .setConfig(GraphDatabaseSettings.auth_enabled, false)
            .setConfig(GraphDatabaseSettings.pagecache_memory, 64L * 1024 * 1024)
            .build();
    Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown));
    dbms.database("neo4j"); // waits until the default database is available
    System.out.println("READY");
    System.out.flush();
    while (System.in.read() != -1) {
      // Nothing to read; returns when the parent closes our standard input.
    }
    System.exit(0);
  }
}
